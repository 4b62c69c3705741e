import NetCore

/// Receives the datagrams of one socket, on that socket's event loop only.
public protocol DatagramSink: AnyObject {
    /// `arrival` is the unix second the datagram was read.
    func receive(_ datagram: UnsafeRawBufferPointer, from sender: IPAddress, arrival: UInt32)
}
