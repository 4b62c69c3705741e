import NetCore

/// Receives the datagrams of one socket, on that socket's event loop only.
public protocol DatagramSink: AnyObject {
    /// `sender` and `port` are the datagram's source; `arrival` is the unix second it was read.
    func receive(_ datagram: UnsafeRawBufferPointer, from sender: IPAddress, port: UInt16, arrival: UInt32)
}
