import Foundation

/// Reads configuration and map files. Bytes that are not UTF-8 are replaced rather than
/// refused: pmacct reads bytes, and such bytes can only sit in comments or values.
enum TextFile {
    static func read(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(reason: "file not found")
        }
        guard !isDirectory.boolValue else { throw ReadError(reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReadError(reason: "permission denied or unreadable")
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct ReadError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}
