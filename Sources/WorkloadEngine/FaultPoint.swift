import Glibc

/// Named points in multi-step operations where tests kill the running process (SIGKILL, exactly
/// like `kill -9`) to prove that the next command cleans up whatever was half made.
/// `PARTCTL_TEST_FAULT=<point>` arms one point; unset, each check is one comparison.
public enum FaultPoint {
    static let variable = "PARTCTL_TEST_FAULT"
    private static let armed: String? = getenv(variable).map { String(cString: $0) }

    public static func reach(_ point: String) {
        guard let armed, armed == point else { return }
        kill(getpid(), SIGKILL)
    }
}
