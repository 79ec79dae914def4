package recordbatch

import "github.com/samsa-io/samsa/wire/membudget"

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
// its callbacks never wait on a lock (the log's lookups read records under
// the log's lock, so nothing holding budget bytes may wait for that lock).

// DefaultMemoryBudget is the decompression budget until SetMemoryBudget
// changes it: what one maximal decompressed batch may reach
// (MaxDecompressedBytes), so one such batch is read without waiting.
const DefaultMemoryBudget = MaxDecompressedBytes

// unchargedBytes is the working memory an operation may allocate without
// taking it from the budget (per buffer or decoder).
const unchargedBytes = 1 << 20

var memory = membudget.New(DefaultMemoryBudget)

// SetMemoryBudget sets the decompression budget in bytes; bytes <= 0
// removes the bound. Until it is called the budget is
// DefaultMemoryBudget. It may be called at any time (a dynamic config):
// waiting operations that now fit go on.
func SetMemoryBudget(bytes int64) { memory.SetLimit(bytes) }

// MemoryHeld returns the bytes of the decompression budget held now.
func MemoryHeld() int64 { return memory.Used() }
