package safefile

// syncDir does nothing on Windows, which has no way to sync a directory:
// FlushFileBuffers on a directory handle fails with "Access is denied",
// and failing every save for it would lose more than it keeps.
func syncDir(string) error { return nil }
