fn main() -> std::process::ExitCode {
    latchkey_provider::cli::main()
}
