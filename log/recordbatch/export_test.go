package recordbatch

// Hooks into the decompression budget for the tests, inside the package
// and out (recordbatch_test).

// SetMemoryBudget sets the decompression budget in bytes; bytes <= 0
// removes the bound. Waiting operations that now fit go on.
func SetMemoryBudget(bytes int64) { memory.SetLimit(bytes) }

// MemoryHeld returns the bytes of the decompression budget held now.
func MemoryHeld() int64 { return memory.Used() }
