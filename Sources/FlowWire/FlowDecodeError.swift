/// Why a datagram was rejected. Each case is a counter label.
public enum FlowDecodeError: String, Error, Sendable, CaseIterable {
    case truncatedHeader = "truncated_header"
    case unsupportedVersion = "unsupported_version"
    case lengthMismatch = "length_mismatch"
    case recordCountMismatch = "record_count_mismatch"
    case badSetHeader = "bad_set_header"
    case setPastEnd = "set_past_end"
    case badTemplate = "bad_template"
    case truncatedRecord = "truncated_record"
}
