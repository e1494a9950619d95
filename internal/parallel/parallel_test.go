package parallel

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestForVisitsEveryIndexOnce(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 64} {
		seen := make([]int32, 100)
		if err := For(context.Background(), len(seen), workers, func(i int) { atomic.AddInt32(&seen[i], 1) }); err != nil {
			t.Fatal(err)
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("workers %d: index %d ran %d times", workers, i, n)
			}
		}
	}
}

func TestForStopsWhenCancelled(t *testing.T) {
	for _, workers := range []int{1, 4} {
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Int32
		err := For(ctx, 1000, workers, func(i int) {
			if ran.Add(1) == 10 {
				cancel()
			}
		})
		if err != context.Canceled {
			t.Fatalf("workers %d: err %v, want context.Canceled", workers, err)
		}
		if n := ran.Load(); n >= 1000 || n < 10 {
			t.Fatalf("workers %d: %d calls after cancelling at 10", workers, n)
		}
	}
}

func TestForNothingToDo(t *testing.T) {
	if err := For(context.Background(), 0, 4, func(int) { t.Fatal("called") }); err != nil {
		t.Fatal(err)
	}
}
