//! Builds the Notion connector component so that `baton-notion` can embed it.
//!
//! The component is rebuilt whenever its sources or the WIT contract change,
//! so a stale component is never embedded. `BATON_NOTION_COMPONENT=path.wasm`
//! embeds a prebuilt component instead (it must exist).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    println!("cargo:rerun-if-env-changed=BATON_NOTION_COMPONENT");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_path_buf();

    let wasm = match env::var_os("BATON_NOTION_COMPONENT") {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            if !path.is_file() {
                fail(&format!(
                    "BATON_NOTION_COMPONENT points at {}, which is not a file",
                    path.display()
                ));
            }
            path
        }
        None => build_connector(&workspace),
    };
    println!(
        "cargo:rustc-env=BATON_NOTION_COMPONENT_PATH={}",
        wasm.display()
    );
}

fn build_connector(workspace: &Path) -> PathBuf {
    // The workspace manifest holds the component's release profile.
    for watched in [
        "connector/src",
        "connector/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    // A target dir of its own: the outer build holds the lock on `target/`.
    let target_dir = workspace.join("target").join("connector");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "baton-notion-connector",
        ])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for the host target, not for wasm.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo to build the connector: {e}")));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            "\nhint: run `rustup target add wasm32-wasip2`"
        } else {
            ""
        };
        fail(&format!(
            "building the connector component failed:\n{stderr}{hint}"
        ));
    }
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join("baton_notion_connector.wasm");
    if !wasm.is_file() {
        fail(&format!(
            "the connector build succeeded but {} is missing",
            wasm.display()
        ));
    }
    wasm
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
