package prefactor

// Test helpers and limits of the package, exported to the black-box tests
// of package prefactor_test.

// WaitGoroutines is waitGoroutines for package prefactor_test.
var WaitGoroutines = waitGoroutines

// AsAPIError is asAPIError for package prefactor_test.
var AsAPIError = asAPIError

// ReferenceExample is referenceExample for package prefactor_test.
const ReferenceExample = referenceExample

// APICall is apiCall for package prefactor_test.
type APICall = apiCall

// EveryCall is everyCall for package prefactor_test: every method of the
// API.
var EveryCall = everyCall

// CallNamed is callNamed for package prefactor_test.
var CallNamed = callNamed

// MaxFieldDepth and MaxMessage are the limits of the same names without
// the capital, for package prefactor_test.
const (
	MaxFieldDepth = maxFieldDepth
	MaxMessage    = maxMessage
)
