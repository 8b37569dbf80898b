package gatewaysvc

import _ "embed"

// gatewaySpec is openapi/gateway.yaml (copied by `make generate`): the
// composite endpoints the gateway answers itself.
//
//go:embed gateway.yaml
var gatewaySpec []byte
