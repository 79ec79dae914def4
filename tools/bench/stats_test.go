package main

import (
	"testing"
	"time"
)

func TestPercentileIsTheNearestRank(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 1000; i++ {
		sorted = append(sorted, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 500}, {99, 990}, {99.9, 999}, {100, 1000}, {0, 1}} {
		if got := percentile(sorted, c.p); got != c.want {
			t.Errorf("percentile(1..1000, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, 99.9); got != 7 {
		t.Errorf("percentile of one sample = %v, want 7", got)
	}
}

func TestSpreadIsTheMedianAndTheRangeOfUnsortedRounds(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want spread
	}{
		{[]float64{3, 1, 2}, spread{2, 1, 3}},
		{[]float64{4, 1, 3, 2}, spread{2.5, 1, 4}},
		{[]float64{5}, spread{5, 5, 5}},
		{nil, spread{}},
	} {
		xs := append([]float64(nil), c.xs...)
		if got := spreadOf(c.xs); got != c.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", c.xs, got, c.want)
		}
		for i := range xs {
			if xs[i] != c.xs[i] {
				t.Fatalf("spreadOf reordered its argument: %v", c.xs)
			}
		}
	}
}
