/// mimalloc hands large freed blocks (Argon2's 19 MiB working memory) back to the
/// OS; glibc's malloc kept them, so one login burst left the RSS at hundreds of MiB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    latchkey_provider::cli::main()
}
