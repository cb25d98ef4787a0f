package prefactor

// Test helpers of the package, exported to the black-box tests of package
// prefactor_test.

// WaitGoroutines is waitGoroutines for package prefactor_test.
var WaitGoroutines = waitGoroutines

// ReferenceExample is referenceExample for package prefactor_test.
const ReferenceExample = referenceExample
