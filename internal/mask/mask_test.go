package mask

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		writes  []string
		want    string
	}{
		{"no secrets", nil, []string{"hello ", "world"}, "hello world"},
		{"one write", []string{"hunter2"}, []string{"pw=hunter2\n"}, "pw=***\n"},
		{"twice in one write", []string{"hunter2"}, []string{"hunter2 and hunter2"}, "*** and ***"},
		{"split across 2 writes", []string{"hunter2"}, []string{"pw=hun", "ter2\n"}, "pw=***\n"},
		{"split across 3 writes", []string{"hunter2"}, []string{"pw=h", "unte", "r2!"}, "pw=***!"},
		{"one byte at a time", []string{"hunter2"}, strings.Split("a hunter2 b", ""), "a *** b"},
		{"held bytes that turn out plain", []string{"hunter2"}, []string{"hunt", "ing"}, "hunting"},
		{"prefix at the very end", []string{"hunter2"}, []string{"x hunte"}, "x hunte"},
		{"near miss then match", []string{"abcd"}, []string{"ab", "cabcd"}, "abc***"},
		{"repeated first byte", []string{"aaab"}, []string{"aa", "aaab"}, "aa***"},
		{"prefix of another, longer matches", []string{"abcd", "abcdef"}, []string{"xabcd", "ef"}, "x***"},
		{"prefix of another, only shorter matches", []string{"abcd", "abcdef"}, []string{"xabcd", "eX"}, "x***eX"},
		{"prefix of another, shorter at the end", []string{"abcd", "abcdef"}, []string{"xabcd"}, "x***"},
		{"prefix of another, longer split in 3", []string{"abcd", "abcdef"}, []string{"ab", "cde", "f."}, "***."},
		{"overlapping: one mask over both", []string{"abcd", "cdef"}, []string{"abcdef!"}, "***!"},
		{"overlapping split", []string{"abcd", "cdef"}, []string{"abc", "def!"}, "***!"},
		{"overlapping split in 3", []string{"abcd", "cdef"}, []string{"ab", "cd", "ef!"}, "***!"},
		{"overlapping chain", []string{"abcd"}, []string{"abcdabc", "d"}, "******"},
		{"self-overlapping", []string{"abab"}, []string{"abababx"}, "***x"},
		{"overlapping: the second alone", []string{"abcd", "cdef"}, []string{"xbc", "def"}, "xb***"},
		{"inner secret inside a longer one", []string{"xxabcdyy", "abcd"}, []string{"xxabcd", "yy"}, "***"},
		{"inner secret, longer fails", []string{"xxabcdyy", "abcd"}, []string{"xxabcd", "zz"}, "xx***zz"},
		{"inner secret extends past", []string{"xxab", "abcd"}, []string{"xxa", "bcd."}, "***."},
		{"adjacent", []string{"abcd"}, []string{"abcdab", "cd"}, "******"},
		{"newlines in a secret", []string{"a\nb\nc"}, []string{"1 a\n", "b\nc 2"}, "1 *** 2"},
		{"empty secret ignored", []string{""}, []string{"text"}, "text"},
		{"empty writes", []string{"abcd"}, []string{"", "ab", "", "cd", ""}, "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := NewWriter(&b, NewSet(tt.secrets...))
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
				// Nothing written so far may hold a secret, not even in part
				// where the rest is still to come.
				for _, sec := range tt.secrets {
					if sec != "" && strings.Contains(b.String(), sec) {
						t.Fatalf("after writing %q the output %q holds secret %q", s, b.String(), sec)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
			// The same text in one piece masks the same way.
			if got := NewSet(tt.secrets...).String(strings.Join(tt.writes, "")); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriterHoldsBackLittle: the writer holds back only what could still
// become a secret, so a live view lags by at most len(longest)-1 bytes.
func TestWriterHoldsBackLittle(t *testing.T) {
	tests := []struct {
		secrets []string
		write   string
		want    string // passed on before Close
	}{
		{[]string{"hunter2"}, "pw=hunte", "pw="},
		{[]string{"hunter2"}, "plain text\n", "plain text\n"},
		{[]string{"abcd", "abcdef"}, "xabcd", "x"},
		{[]string{"abcd"}, "xyzabc", "xyz"},
		{[]string{"abcd"}, "abcabd", "abcabd"},
	}
	final := map[string]string{"xabcd": "x***"}
	for _, tt := range tests {
		var b strings.Builder
		w := NewWriter(&b, NewSet(tt.secrets...))
		w.Write([]byte(tt.write))
		if b.String() != tt.want {
			t.Errorf("%v: after Write(%q) passed on %q, want %q", tt.secrets, tt.write, b.String(), tt.want)
		}
		w.Close()
		want := tt.write
		if f, ok := final[tt.write]; ok {
			want = f
		}
		if b.String() != want {
			t.Errorf("%v: after Close %q, want %q", tt.secrets, b.String(), want)
		}
	}
}

// TestWriterEveryChunking writes one text cut at every pair of places and
// checks the result never depends on where the cuts fall.
func TestWriterEveryChunking(t *testing.T) {
	secrets := []string{"s3cr3t", "s3cr3t-longer", "cr3t-l"}
	text := "a s3cr3t b s3cr3t-longer c s3cr3 d cr3t-l e s3cr3t-lon"
	want := NewSet(secrets...).String(text)
	if want != "a *** b *** c s3cr3 d *** e ***on" {
		t.Fatalf("String = %q", want)
	}
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			var b strings.Builder
			w := NewWriter(&b, NewSet(secrets...))
			for _, part := range []string{text[:i], text[i:j], text[j:]} {
				w.Write([]byte(part))
			}
			w.Close()
			if b.String() != want {
				t.Fatalf("cut at %d and %d: got %q, want %q", i, j, b.String(), want)
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestWriterErrors(t *testing.T) {
	w := NewWriter(failWriter{}, NewSet("abcd"))
	if _, err := w.Write([]byte("plain")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Write = %v, want the underlying error", err)
	}
	var b strings.Builder
	w = NewWriter(&b, NewSet("abcd"))
	w.Close()
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestError(t *testing.T) {
	set := NewSet("hunter2")
	base := io.ErrUnexpectedEOF
	err := set.Error(errors.Join(errors.New("login with hunter2 failed"), base))
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "login with *** failed") {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, base) {
		t.Error("the masked error does not unwrap to its cause")
	}
	plain := errors.New("nothing to hide")
	if set.Error(plain) != plain {
		t.Error("an error without a secret was wrapped")
	}
	if set.Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}

// BenchmarkWriter masks build-log-like text, 32 KiB at a time, with a few
// secrets set: the cost every step log pays when the pipeline names one.
func BenchmarkWriter(b *testing.B) {
	line := "step 12/40 : RUN go build -o /out/app ./cmd/app && echo done token=hunter2-xyz\n"
	chunk := []byte(strings.Repeat(line, 32<<10/len(line)))
	set := NewSet("hunter2-xyz", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "npm_0123456789abcdef")
	b.SetBytes(int64(len(chunk)))
	w := NewWriter(io.Discard, set)
	for b.Loop() {
		w.Write(chunk)
	}
	w.Close()
}
