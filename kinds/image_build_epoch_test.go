package kinds

import (
	"strings"
	"testing"
)

// image.build's source_date_epoch is seconds since 1970, or a reference
// whose value planning fills in.
func TestImageBuildSourceDateEpochCheck(t *testing.T) {
	tests := []struct{ value, err string }{
		{"", ""},
		{"0", ""},
		{"1700000000", ""},
		{"${var.settings.source_date_epoch}", ""},
		{"${env.SOURCE_DATE_EPOCH}", ""},
		{"git", `source_date_epoch: want seconds since 1970, got "git" (settings.source_date_epoch = "git" takes the last commit's time)`},
		{"-1", `source_date_epoch: want seconds since 1970, got "-1"`},
		{"17.5", `source_date_epoch: want seconds since 1970, got "17.5"`},
		{"2023-11-14", `source_date_epoch: want seconds since 1970, got "2023-11-14"`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			err := (&ImageBuildSpec{SourceDateEpoch: tt.value}).Check()
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
				t.Errorf("Check() = %v, want %q", err, tt.err)
			}
		})
	}
}
