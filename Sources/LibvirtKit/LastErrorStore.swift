import Glibc

/// Thread-local home of `LibvirtErrorInfo.lastCaptured`, mirroring libvirt's per-thread last error.
enum LastErrorStore {
    private final class Box {
        let info: LibvirtErrorInfo
        init(_ info: LibvirtErrorInfo) { self.info = info }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The destructor releases the box a thread held when the thread ends.
        let status = pthread_key_create(&key) { box in
            if let box { Unmanaged<Box>.fromOpaque(box).release() }
        }
        precondition(status == 0, "pthread_key_create failed with \(status)")
        return key
    }()

    static var current: LibvirtErrorInfo? {
        get {
            pthread_getspecific(key).map { Unmanaged<Box>.fromOpaque($0).takeUnretainedValue().info }
        }
        set {
            let old = pthread_getspecific(key)
            let new = newValue.map { Unmanaged.passRetained(Box($0)).toOpaque() }
            pthread_setspecific(key, new)
            if let old { Unmanaged<Box>.fromOpaque(old).release() }
        }
    }
}
