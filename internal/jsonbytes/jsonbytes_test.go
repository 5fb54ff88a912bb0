package jsonbytes

import (
	"encoding/json"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, in, json string
	}{
		{"ascii", "out/report.txt", `"out/report.txt"`},
		{"utf8", "out/café", `"out/café"`},
		{"latin1", "out/caf\xe9", `{"base64":"b3V0L2NhZuk="}`},
		{"lone continuation", "\x80", `{"base64":"gA=="}`},
		{"replacement char itself", "a\uFFFDb", `"a` + "\uFFFD" + `b"`},
		{"control bytes", "a\x01\nb", `"a\u0001\nb"`},
		{"html", "<a&b>", `"\u003ca\u0026b\u003e"`},
		{"empty", "", `""`},
		{"looks like the object form", `{"base64":"gA=="}`, `"{\"base64\":\"gA==\"}"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(String(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Errorf("marshal %q = %s, want %s", tc.in, b, tc.json)
			}
			var back String
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if string(back) != tc.in {
				t.Errorf("round trip %q came back %q", tc.in, back)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for _, in := range []string{
		`{"base64":"!!"}`,
		`{"b64":"gA=="}`,
		`12`,
		`{"base64":"gA==","extra":1}`,
	} {
		var s String
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("unmarshal %s: no error, got %q", in, s)
		}
	}
}

func TestMap(t *testing.T) {
	m := Map{"outputs": "a b\xff", "image_id": "sha256:00"}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Map
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back["outputs"] != m["outputs"] || back["image_id"] != m["image_id"] {
		t.Errorf("map came back %q from %s", back, b)
	}
	var nilMap Map
	b, _ = json.Marshal(nilMap)
	if string(b) != "null" {
		t.Errorf("nil map = %s", b)
	}
}
