#if canImport(Glibc)
import Glibc
#endif

/// Bins are computed in local time, as pmacct does; the expected values here are UTC.
func useUTC() {
    setenv("TZ", "UTC", 1)
    tzset()
}
