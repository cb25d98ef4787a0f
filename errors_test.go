package prefactor

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestFieldErrorsLinearAndSorted: an errors object nested 9,000 levels
// deep, within the 64 KiB the SDK decodes, flattens in time and memory
// linear in its size; and keys that flatten to the same name list their
// messages in one order, every time.
func TestFieldErrorsLinearAndSorted(t *testing.T) {
	const depth = 9000
	deep := strings.Repeat(`{"a":`, depth) + `"m"` + strings.Repeat(`}`, depth)
	e := &APIError{}
	if err := json.Unmarshal([]byte(deep), &e.Errors); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fields := e.FieldErrors()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("flattening %d bytes allocated %d MiB; want at most 4", len(deep), alloc>>20)
	}
	if len(fields) != 1 {
		t.Fatalf("%d keys; want 1", len(fields))
	}
	for k, v := range fields {
		if strings.Count(k, ".") != maxFieldDepth-1 || len(v) != 1 || !strings.HasPrefix(v[0], `{"a":{"a":`) {
			t.Errorf("key %q (%d levels), messages %.40q; want %d levels and the rest as JSON", k[:min(len(k), 40)], strings.Count(k, ".")+1, v, maxFieldDepth)
		}
	}

	e = &APIError{}
	if err := json.Unmarshal([]byte(`{"a.b":["x"],"a":{"b":["y"],"c":"z"},"b":[1,true,null,{"d":"w"}]}`), &e.Errors); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a.b": {"y", "x"}, "a.c": {"z"}, "b": {"1", "true", "null"}, "b.d": {"w"}}
	for range 200 {
		if got := e.FieldErrors(); !reflect.DeepEqual(got, want) {
			t.Fatalf("FieldErrors = %q; want %q", got, want)
		}
	}
}
