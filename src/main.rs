fn main() -> std::process::ExitCode {
    olmisctl::run()
}
