//go:build goexperiment.jsonv2

package benchmarks

import (
	jsonv2 "encoding/json/v2"
	"io"
)

// With GOEXPERIMENT=jsonv2 the comparison also has the hand-written loop
// with encoding/json/v2.
func init() {
	optional = append(optional, func(baseURL string) impl {
		return impl{name: "json-v2", walk: handLoop(newHTTPClient(), baseURL, func(r io.Reader, p *page) error {
			return jsonv2.UnmarshalRead(r, p)
		})}
	})
}
