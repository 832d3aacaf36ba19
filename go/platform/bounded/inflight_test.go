package bounded

import "testing"

func TestInFlight(t *testing.T) {
	b := &InFlight{Max: 2}
	steps := []struct {
		enter bool // else leave
		want  bool // what Enter answers
	}{
		{true, true}, {true, true}, {true, false}, {true, false},
		{false, false}, {true, true}, {true, false},
		{false, false}, {false, false}, {true, true}, {true, true}, {true, false},
	}
	for i, s := range steps {
		if !s.enter {
			b.Leave()
			continue
		}
		if got := b.Enter(); got != s.want {
			t.Fatalf("step %d: Enter() = %t, want %t", i, got, s.want)
		}
	}
}
