module github.com/lattice-platform/lattice/sdk

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/oapi-codegen/nullable v1.2.0
	github.com/oapi-codegen/runtime v1.9.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.38.0
)

require github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
