#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of one print flush, written all or nothing: every file is staged first (a new
/// file beside a replaced one, or the rows appended to an appended one), then the new files are
/// renamed over the old ones. A failure while staging removes the new files and cuts appended
/// files back to their old length, so a flush that throws leaves every file as it was.
///
/// Missing directories on the way to a file are created, as pmacct's open_output_file() does.
/// A name that is not a regular file (a FIFO, /dev/null, /dev/stdout) is written in place.
struct PrintFileBatch {
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let operation: String
        let errno: Int32

        var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    private enum Staged {
        /// A new file to rename over `target`.
        case replacement(temporary: String, target: String)
        /// Rows appended to `path`, which was `length` bytes long (or did not exist).
        case appended(path: String, length: off_t, created: Bool)
    }

    private var staged: [Staged] = []

    /// Whether `path` exists (any kind of file, a dangling symlink excluded).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Stages `text` as the whole new content of `path`.
    mutating func replace(_ path: String, with text: String) throws {
        let target = Self.resolve(path)
        try Self.makeDirectories(for: target)
        if !Self.isRegularOrAbsent(target) {
            // A FIFO or a device: nothing to rename over; written now, as pmacct writes it.
            try Self.writeInPlace(target, text)
            return
        }
        let temporary = Self.temporaryName(for: target)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw Failure(path: target, operation: "create a new file to replace", errno: errno) }
        staged.append(.replacement(temporary: temporary, target: target))
        // The new file keeps the permissions of the one it replaces, as a rewrite in place would.
        var old = stat()
        if stat(target, &old) == 0 { _ = fchmod(fd, old.st_mode & 0o7777) }
        try Self.writeAll(fd, text, path: temporary)
    }

    /// Stages text appended to `path`: `whenNew` when the file does not exist yet, else `otherwise`.
    mutating func append(_ path: String, whenNew: String, otherwise: String) throws {
        let target = Self.resolve(path)
        try Self.makeDirectories(for: target)
        if !Self.isRegularOrAbsent(target) {
            try Self.writeInPlace(target, otherwise)
            return
        }
        let created = !Self.exists(target)
        let fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw Failure(path: target, operation: "open", errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            if created { unlink(target) }
            throw Failure(path: target, operation: "stat", errno: error)
        }
        staged.append(.appended(path: target, length: info.st_size, created: created))
        try Self.writeAll(fd, created ? whenNew : otherwise, path: target)
    }

    /// Puts every staged file in place. When a rename fails, the files not renamed yet and the
    /// appended ones go back as they were and it throws (files already renamed keep their new
    /// content: a rename in the directory the file was just created in fails only in odd cases).
    mutating func commit() throws {
        for (index, entry) in staged.enumerated() {
            guard case .replacement(let temporary, let target) = entry else { continue }
            if rename(temporary, target) != 0 {
                let failure = Failure(path: target, operation: "rename", errno: errno)
                staged = staged.enumerated().filter { i, entry in
                    if case .appended = entry { return true }
                    return i >= index
                }.map(\.element)
                rollBack()
                throw failure
            }
        }
        staged = []
    }

    /// Removes new files and cuts appended files back.
    mutating func rollBack() {
        for entry in staged {
            switch entry {
            case .replacement(let temporary, _):
                unlink(temporary)
            case .appended(let path, let length, let created):
                if created {
                    unlink(path)
                } else {
                    _ = truncate(path, length)
                }
            }
        }
        staged = []
    }

    // MARK: helpers

    /// Writes through a symbolic link, as fopen() does: the link stays, its target is replaced.
    static func resolve(_ path: String) -> String {
        // /dev/stdout and the like lead to descriptors of this process: never replaced.
        if path.hasPrefix("/dev/") || path.hasPrefix("/proc/") { return path }
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return path }
        guard let real = realpath(path, nil) else { return path }  // dangling: written as a new file
        defer { free(real) }
        return String(cString: real)
    }

    static func isRegularOrAbsent(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return true }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    /// pmacct's mkdir_multilevel(): every missing directory of the path, mode 0777 less umask.
    static func makeDirectories(for path: String) throws {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast()
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in components where !component.isEmpty {
            prefix += "/" + component
            if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
                throw Failure(path: prefix, operation: "mkdir", errno: errno)
            }
        }
    }

    static func temporaryName(for target: String) -> String {
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[...$0]) } ?? ""
        let base = slash.map { String(target[target.index(after: $0)...]) } ?? target
        var random = SystemRandomNumberGenerator()
        return "\(directory).\(base).\(getpid()).\(String(random.next() & 0xffff_ffff, radix: 16)).tmp"
    }

    /// A FIFO is opened read-write and non-blocking, as pmacct opens it: the open never waits
    /// for a reader, and a full FIFO fails the write after `fullWait` seconds.
    static func writeInPlace(_ path: String, _ text: String) throws {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, operation: "open", errno: errno) }
        try writeAll(fd, text, path: path)
    }

    static let fullWait = 5.0

    /// Writes all of `text`, then closes `fd` (a failed close fails the write too).
    static func writeAll(_ fd: Int32, _ text: String, path: String) throws {
        var failure: Failure?
        var text = text
        text.withUTF8 { bytes in
            var offset = 0, waited = 0.0
            while offset < bytes.count {
                let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN && waited < fullWait {
                        usleep(10_000)
                        waited += 0.01
                        continue
                    }
                    failure = Failure(path: path, operation: "write", errno: errno)
                    return
                }
                offset += n
            }
        }
        if close(fd) != 0, failure == nil {
            failure = Failure(path: path, operation: "close", errno: errno)
        }
        if let failure { throw failure }
    }
}

/// write(2), by a name no member shadows.
func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}
