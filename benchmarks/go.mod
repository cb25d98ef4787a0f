module github.com/prefactor-sdk/prefactor-go/benchmarks

go 1.24

require github.com/prefactor-sdk/prefactor-go v0.0.0

require (
	github.com/goccy/go-json v0.10.5
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/jarcoal/httpmock v1.4.2 // indirect
)

replace github.com/prefactor-sdk/prefactor-go => ../
