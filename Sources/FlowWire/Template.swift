/// A NetFlow v9 or IPFIX (options) template, compiled for decoding.
struct Template: Sendable, Equatable {
    struct Field: Sendable, Equatable {
        var elementID: UInt16
        var enterprise: UInt32
        /// 65535 marks an IPFIX variable-length field (RFC 7011 §7).
        var length: UInt16
        var kind: FieldKind
    }

    /// A field the decoder reads: its fixed offset in the record, length and target.
    struct Op: Sendable, Equatable {
        var offset: Int
        var length: Int
        var kind: FieldKind
    }

    var fields: [Field]
    var isOptions: Bool
    /// Record length when every field has a fixed length; nil with variable-length fields.
    var fixedLength: Int?
    /// Fields to read, for fixed-length templates.
    var ops: [Op]
    /// Smallest number of bytes one record can take: bounds the records in a set.
    var minimumLength: Int

    init(fields: [Field], isOptions: Bool) {
        self.fields = fields
        self.isOptions = isOptions
        var offset = 0
        var variable = false
        var ops: [Op] = []
        var minimum = 0
        for field in fields {
            if field.length == 0xffff {
                variable = true
                minimum += 1
                continue
            }
            minimum += Int(field.length)
            if !variable && field.kind != .ignore {
                ops.append(Op(offset: offset, length: Int(field.length), kind: field.kind))
            }
            offset += Int(field.length)
        }
        self.fixedLength = variable ? nil : offset
        self.ops = variable ? [] : ops
        self.minimumLength = minimum
    }

    static func kind(elementID: UInt16, enterprise: UInt32, length: UInt16) -> FieldKind {
        guard enterprise == 0, let kind = FieldKind.byElementID[elementID], kind.accepts(length: Int(length)) else {
            return .ignore
        }
        return kind
    }
}
