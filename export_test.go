package prefactor

// Test helpers of the package, exported to the black-box tests of package
// prefactor_test.

// WaitGoroutines is waitGoroutines for package prefactor_test.
var WaitGoroutines = waitGoroutines

// ReferenceExample is referenceExample for package prefactor_test.
const ReferenceExample = referenceExample

// EveryCall is everyCall for package prefactor_test: each method of the
// API, called on the token tok_a.
var EveryCall = everyCall
