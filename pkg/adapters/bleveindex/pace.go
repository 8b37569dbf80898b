package bleveindex

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/registry"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex/asciiwords"
)

// pacedAnalyzerType is the registered type of the text field's analyzer:
// English analysis (en) that goes one document at a time while the
// process is busy with requests (ADR 0055).
//
// bleve analyses a batch's documents on four workers of its own, so one
// batch of search's backlog spread over both cores of a small machine.
// The priority gate paces background work by the wall time each unit
// takes, which is a share of the cores only if a unit keeps to one of
// them. While requests are in flight, the pacer lets one worker analyse
// at a time; otherwise, at start and between requests, all four run.
const pacedAnalyzerType = "lattice_paced_en"

// textAnalyzer is the mapping's name for the paced analyzer.
const textAnalyzer = "text"

func init() {
	if err := registry.RegisterAnalyzer(pacedAnalyzerType, newPacedAnalyzer); err != nil {
		panic(err)
	}
}

// pacer holds an index's analysis to one document at a time while busy
// reports true. A nil busy never holds it.
type pacer struct {
	busy func() bool
	mu   sync.Mutex
}

// pacedAnalyzer is en's analyzer behind a pacer, with en's tokenizer
// replaced by asciiwords and its porter filter by porterInPlace, which
// give the same tokens at a third of the cost (ADR 0060). Queries name en
// itself, so a search never waits for an indexing worker's turn.
type pacedAnalyzer struct {
	inner analysis.Analyzer
	p     *pacer
}

func (a pacedAnalyzer) Analyze(text []byte) analysis.TokenStream {
	if a.p.busy != nil && a.p.busy() {
		a.p.mu.Lock()
		defer a.p.mu.Unlock()
	}
	return a.inner.Analyze(text)
}

// newPacedAnalyzer builds the analyzer from its mapping's definition,
// whose "pacer" is the index's own *pacer: the mapping is never read back
// from disk (the index is rebuilt on start), so it need not survive JSON.
func newPacedAnalyzer(config map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
	p, ok := config["pacer"].(*pacer)
	if !ok {
		return nil, errors.New("bleveindex: the paced analyzer's definition has no pacer")
	}
	a, err := cache.AnalyzerNamed(en.AnalyzerName)
	if err != nil {
		return nil, err
	}
	enAnalyzer, ok := a.(*analysis.DefaultAnalyzer)
	if !ok {
		return nil, fmt.Errorf("bleveindex: en's analyzer is a %T, not a tokenizer and filters", a)
	}
	words, err := cache.TokenizerNamed(asciiwords.Name)
	if err != nil {
		return nil, err
	}
	inner := *enAnalyzer
	inner.Tokenizer = words
	inner.TokenFilters = slices.Clone(enAnalyzer.TokenFilters)
	stemmer := slices.IndexFunc(inner.TokenFilters, func(f analysis.TokenFilter) bool {
		_, ok := f.(*porter.PorterStemmer)
		return ok
	})
	if stemmer < 0 {
		return nil, errors.New("bleveindex: en's analyzer has no porter stemmer")
	}
	inner.TokenFilters[stemmer] = porterInPlace{}
	return pacedAnalyzer{inner: &inner, p: p}, nil
}
