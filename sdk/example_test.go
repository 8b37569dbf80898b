package lattice_test

// The examples run against a platform: `make run`, then LATTICE_URL and
// LATTICE_API_KEY as sdk/README.md shows (go test skips them otherwise).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	lattice "github.com/lattice-platform/lattice/sdk"
	"github.com/lattice-platform/lattice/sdk/api/jobs"
	"github.com/lattice-platform/lattice/sdk/api/resources"
	"github.com/lattice-platform/lattice/sdk/api/search"
)

// Create a resource, then change it safely against concurrent writers.
func Example() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	body := "Observations of the pangolin at dusk."
	r, etag, err := c.Resources.Create(ctx, resources.ResourceInput{Title: "Field notes", Body: &body})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Title, etag)

	r, etag, err = c.Resources.Modify(ctx, r.Id, func(r *resources.Resource) (resources.ResourcePatch, error) {
		tags := append(r.Tags, "nature")
		return resources.ResourcePatch{Tags: &tags}, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Tags, etag)
	// Output:
	// Field notes "1"
	// [nature] "2"
}

// Walk every resource with a tag, however many pages it takes.
func ExampleResourcesClient_All() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	tag := "batch-" + uuid.NewString()[:8]
	for i := range 5 {
		if _, _, err := c.Resources.Create(ctx, resources.ResourceInput{Title: fmt.Sprintf("Note %d", i), Tags: &[]string{tag}}); err != nil {
			log.Fatal(err)
		}
	}
	limit := 2 // small pages, to show the walk crossing them
	n := 0
	for r, err := range c.Resources.All(ctx, &resources.ListResourcesParams{Tag: &tag, Limit: &limit}) {
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasPrefix(r.Title, "Note ") {
			n++
		}
	}
	fmt.Println(n, "resources")
	// Output: 5 resources
}

// An update sent with an ETag that is no longer current is refused with a
// *ConflictError: read again, decide again.
func ExampleConflictError() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	r, stale, err := c.Resources.Create(ctx, resources.ResourceInput{Title: "Draft"})
	if err != nil {
		log.Fatal(err)
	}
	title := "First edit"
	if _, _, err := c.Resources.Update(ctx, r.Id, stale, resources.ResourcePatch{Title: &title}); err != nil {
		log.Fatal(err)
	}
	title = "Second edit, from the stale copy"
	_, _, err = c.Resources.Update(ctx, r.Id, stale, resources.ResourcePatch{Title: &title})
	if ce, ok := errors.AsType[*lattice.ConflictError](err); ok {
		fmt.Println("changed since", ce.Sent, "- conflict:", lattice.IsConflict(err))
	}
	// Output: changed since "1" - conflict: true
}

// Upload a file as a stream, and read part of it back with a Range
// request.
func ExampleResourcesClient_Upload() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	r, _, err := c.Resources.Create(ctx, resources.ResourceInput{Title: "With a file"})
	if err != nil {
		log.Fatal(err)
	}
	f, err := c.Resources.Upload(ctx, r.Id, "notes.txt", strings.NewReader("The quokka smiles on Rottnest Island.\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Name, f.Size)

	part, err := c.Resources.DownloadRange(ctx, r.Id, f.Id, 4, 6)
	if err != nil {
		log.Fatal(err)
	}
	defer part.Close()
	b, err := io.ReadAll(part)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q of %d bytes\n", b, part.Total)
	// Output:
	// notes.txt 38
	// "quokka" of 38 bytes
}

// Search what you may read; new content is searchable moments after it
// is written, so a program that has just written polls.
func ExampleSearchClient_Query() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	word := "zq" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	body := "A note about " + word + "."
	r, _, err := c.Resources.Create(ctx, resources.ResourceInput{Title: "Searchable", Body: &body})
	if err != nil {
		log.Fatal(err)
	}
	mode := search.Hybrid
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, err := c.Search.Query(ctx, search.SearchRequest{Query: word, Mode: &mode})
		if err != nil {
			log.Fatal(err)
		}
		if len(res.Hits) > 0 && res.Hits[0].ResourceId == r.Id {
			fmt.Println("found")
			return
		}
	}
	fmt.Println("not found within 30 s")
	// Output: found
}

// Follow the processing jobs of a resource's file.
func ExampleJobsClient_All() {
	ctx := context.Background()
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	r, _, err := c.Resources.Create(ctx, resources.ResourceInput{Title: "Processed"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Resources.Upload(ctx, r.Id, "a.md", strings.NewReader("# Heading\n\nSome text.\n")); err != nil {
		log.Fatal(err)
	}
	kind := jobs.JobKindExtractFile
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for j, err := range c.Jobs.All(ctx, &jobs.ListJobsParams{ResourceId: &r.Id, Kind: &kind}) {
			if err != nil {
				log.Fatal(err)
			}
			if j.State == jobs.Succeeded {
				fmt.Println(j.Kind, j.State)
				return
			}
		}
	}
	fmt.Println("no job finished within 30 s")
	// Output: extract_file succeeded
}

// Errors are *lattice.Problem; helpers name the common cases.
func ExampleIsNotFound() {
	c, err := lattice.New(os.Getenv("LATTICE_URL"), lattice.WithAPIKey(os.Getenv("LATTICE_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = c.Resources.Get(context.Background(), uuid.New())
	fmt.Println(lattice.IsNotFound(err))
	if p, ok := errors.AsType[*lattice.Problem](err); ok {
		fmt.Println(p.Status, p.Type, p.RequestID != "")
	}
	// Output:
	// true
	// 404 https://lattice.dev/problems/not-found true
}

// A service authenticates as an OAuth client (lattice client create
// --grant client_credentials): the token endpoint is found by discovery
// and tokens are renewed as they expire.
func ExampleWithClientCredentials() {
	c, err := lattice.New(os.Getenv("LATTICE_URL"),
		lattice.WithClientCredentials(os.Getenv("LATTICE_CLIENT_ID"), os.Getenv("LATTICE_CLIENT_SECRET"), "search:read"))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Search.Query(context.Background(), search.SearchRequest{Query: "anything"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Hits != nil)
	// Output: true
}
