package recordbatch

import (
	"context"
	"sync"

	"github.com/samsa-io/samsa/wire/membudget"
)

// The decompression budget bounds the memory that reading inside batches
// takes at once, across every goroutine of the process: the decoders'
// windows and blocks, whole snappy blocks, a record read out for a
// callback, the output of a recompression. A client chooses how far its
// batch expands (a 200 KiB gzip batch may hold a 200 MiB record) and
// which windows its frames declare, so without a bound a few concurrent
// requests could take gigabytes. It is a sibling of the request budget
// (what request frames hold), not part of it: the request bytes are
// already held when decompression starts.
//
// Each operation (one Validate, Recompress, Records or ScanRecords) takes
// bytes before it allocates them and gives them all back when it returns.
// Working memory under unchargedBytes skips the budget: small batches, the
// common case, never touch it. An operation needing more than the whole
// budget still runs, alone (see membudget's overdraft).
//
// Deadlock rule: an operation holds budget bytes only while it runs and
// its callbacks never wait on a lock (the log's lookups call ScanRecords
// under the log's lock, so nothing holding budget bytes may wait for that
// lock). That is why Recompress gives its bytes back before the batch it
// built is appended.

// DefaultMemoryBudget is the decompression budget: what one maximal
// decompressed batch may reach (MaxDecompressedBytes), so one such batch is
// read without waiting.
const DefaultMemoryBudget = MaxDecompressedBytes

// unchargedBytes is the working memory an operation may allocate without
// taking it from the budget (per buffer or decoder).
const unchargedBytes = 1 << 20

var memory = membudget.New(DefaultMemoryBudget)

// workspace is the budgeted memory of one operation. It is used by one
// goroutine; done gives everything back.
type workspace struct {
	holder *membudget.Holder
}

var workspaces = sync.Pool{New: func() any { return &workspace{holder: memory.Holder()} }}

func newWorkspace() *workspace { return workspaces.Get().(*workspace) }

// charge takes n bytes from the budget, waiting until they fit, unless n
// is small enough to skip it. It returns what it took, for uncharge.
func (w *workspace) charge(n int64) int64 {
	if n < unchargedBytes {
		return 0
	}
	// Acquire fails only when its context ends; this one never does, and
	// the budget's overdraft guarantees the bytes come.
	_ = w.holder.Acquire(context.Background(), n)
	return n
}

// uncharge gives back n bytes taken by charge.
func (w *workspace) uncharge(n int64) { w.holder.Release(n) }

// done gives back every byte the operation still holds.
func (w *workspace) done() {
	w.holder.ReleaseAll()
	workspaces.Put(w)
}

// buffer is a byte slice whose capacity is charged to a workspace before
// it is allocated.
type buffer struct {
	ws      *workspace
	b       []byte
	charged int64
	pooled  *[]byte // where b came from, if from smallBufs
}

// smallBufs keep uncharged buffers (up to unchargedBytes) for reuse, so
// that producer-sized batches decode without allocating.
var smallBufs = sync.Pool{New: func() any { return new([]byte) }}

// pooledBuffer returns an empty buffer starting from a pooled slice.
func pooledBuffer(ws *workspace) buffer {
	p := smallBufs.Get().(*[]byte)
	return buffer{ws: ws, b: (*p)[:0], pooled: p}
}

// reserve makes room for n more bytes after len(b.b), keeping the bytes
// held. The capacity grows geometrically, so appending costs amortized
// constant time: it doubles up to 8 MiB and then grows by a quarter, so
// that growing a large buffer holds 2.25 times its bytes while copying
// (not 3) and leaves at most a quarter unused. It stops at ceiling (when
// positive) unless more is needed.
func (b *buffer) reserve(n, ceiling int) {
	need := len(b.b) + n
	if need <= cap(b.b) {
		return
	}
	grow := cap(b.b)
	if grow >= 8<<20 {
		grow /= 4
	}
	size := max(need, cap(b.b)+grow, 4<<10)
	if ceiling > 0 {
		size = max(need, min(size, ceiling))
	}
	took := b.ws.charge(int64(size))
	grown := make([]byte, len(b.b), size)
	copy(grown, b.b)
	b.ws.uncharge(b.charged)
	b.b, b.charged = grown, took
}

// resize sets the length to n, growing the capacity to exactly n when it
// is short (a record or snappy block whose size is known); the bytes held
// are not kept.
func (b *buffer) resize(n int) {
	if n > cap(b.b) {
		b.ws.uncharge(b.charged)
		b.b, b.charged = nil, 0
		b.charged = b.ws.charge(int64(n))
		b.b = make([]byte, n)
	}
	b.b = b.b[:n]
}

// free drops the bytes and gives their charge back; an uncharged slice
// goes back to the pool it came from.
func (b *buffer) free() {
	b.ws.uncharge(b.charged)
	if b.pooled != nil && cap(b.b) <= unchargedBytes {
		*b.pooled = b.b[:0]
		smallBufs.Put(b.pooled)
	}
	b.b, b.charged, b.pooled = nil, 0, nil
}
