//! Fixtures of the sandbox tests: building and loading the hostile
//! components, the scene each attack runs in, and a server that streams.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use baton_host::bindings::types::ConfigValue;
use baton_host::c1z::C1zReader;
use baton_host::runtime::{
    ConnectorComponent, EgressPolicy, Limit, Origin, RunPolicy, Runtime, RuntimeError,
};
use baton_host::sync::{SyncError, SyncRun};
use notion_scim_test_server::TestServer;
use tempfile::TempDir;

use crate::{server, sync_into};

/// Config values from name-value pairs.
pub fn config(pairs: &[(&str, &str)]) -> Vec<ConfigValue> {
    pairs
        .iter()
        .map(|(name, value)| ConfigValue {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect()
}

/// Where the fixtures are built: a target dir of their own, so that the
/// build does not wait for the lock that the running `cargo test` holds.
pub fn fixture_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let target_dir = workspace.join("target").join("test-components");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(["-p", "baton-hostile-connector"])
            .args(["-p", "baton-future-contract-connector"])
            .args(["-p", "baton-past-contract-connector"])
            .arg("--target-dir")
            .arg(&target_dir)
            // The outer build's flags are for the host target, not for wasm.
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the test components failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir.join("wasm32-wasip2").join("release")
    })
}

/// The hostile component, compiled once for all tests by one runtime.
pub fn hostile() -> &'static ConnectorComponent {
    static LOADED: OnceLock<ConnectorComponent> = OnceLock::new();
    LOADED.get_or_init(|| {
        let bytes = std::fs::read(fixture_dir().join("baton_hostile_connector.wasm")).unwrap();
        let runtime = Runtime::new().expect("runtime");
        runtime.load(&bytes).expect("the hostile component loads")
    })
}

/// Small limits, so that every attack ends within a few seconds.
pub fn policy(server: &TestServer) -> RunPolicy {
    RunPolicy {
        egress: EgressPolicy {
            allowed: vec![Origin::of_url(&server.base_url()).unwrap()],
        },
        request_timeout: Duration::from_secs(1),
        memory_limit: 64 << 20,
        call_timeout: Duration::from_secs(1),
        run_timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

/// A test-server, and a c1z that a good sync wrote before the attack.
pub struct Scene {
    pub server: TestServer,
    _dir: TempDir,
    pub c1z: PathBuf,
    before: Vec<u8>,
}

impl Scene {
    pub fn new() -> Scene {
        let server = server(5, 2);
        let dir = tempfile::tempdir().unwrap();
        let c1z = dir.path().join("sync.c1z");
        sync_into(&server, &c1z).expect("the good sync before the attack");
        let before = std::fs::read(&c1z).unwrap();
        Scene {
            server,
            _dir: dir,
            c1z,
            before,
        }
    }

    /// The hostile component in `mode`, configured against this scene's
    /// server, and its metadata; for tests that call exports one by one.
    pub fn instance(
        &self,
        mode: &str,
        policy: RunPolicy,
    ) -> (
        baton_host::runtime::ConnectorInstance,
        baton_host::bindings::types::ConnectorMetadata,
    ) {
        let mut instance = hostile().instantiate(policy).expect("instantiates");
        let metadata = instance.metadata().expect("metadata");
        let base_url = self.server.base_url();
        let config = config(&[("mode", mode), ("base-url", &base_url)]);
        instance.configure(&metadata, &config).expect("configure");
        (instance, metadata)
    }

    /// Runs the hostile component in `mode` through a whole sync into the c1z.
    pub fn attack(&self, mode: &str, policy: RunPolicy, target: &str) -> SyncError {
        let mut instance = hostile().instantiate(policy).expect("instantiates");
        let metadata = instance.metadata().expect("metadata");
        let base_url = self.server.base_url();
        let config = config(&[("mode", mode), ("base-url", &base_url), ("target", target)]);
        instance.configure(&metadata, &config).expect("configure");
        instance.validate().expect("validate");
        let run = SyncRun::new(&mut instance, &metadata, &self.c1z).expect("sync starts");
        match run.run() {
            Ok(report) => panic!("the `{mode}` attack succeeded: {report:?}"),
            Err(e) => e,
        }
    }

    /// The previous c1z is untouched, nothing is left next to it, and the
    /// host still syncs.
    pub fn assert_survived(self) {
        let after = std::fs::read(&self.c1z).unwrap();
        assert!(after == self.before, "the previous c1z was replaced");
        self.assert_alone_and_resync();
    }

    /// Nothing but the c1z is left in its folder, and a good sync into it succeeds.
    fn assert_alone_and_resync(&self) {
        let dir = self.c1z.parent().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["sync.c1z"], "a temp file was left behind");
        sync_into(&self.server, &self.c1z).expect("a good sync after the attack");
    }

    /// After a stop that saved its progress: the previous sync is still the newest
    /// finished one, beside the unfinished one, nothing else is left, and a sync by
    /// another connector drops the unfinished one.
    pub fn assert_survived_beside_progress(self) {
        let before = std::fs::read(&self.c1z).unwrap();
        assert_ne!(before, self.before, "the progress is saved");
        let syncs = C1zReader::open(&self.c1z).unwrap().syncs().unwrap();
        assert_eq!(syncs.len(), 2, "{syncs:?}");
        assert!(
            syncs[0].is_finished() && !syncs[1].is_finished(),
            "{syncs:?}"
        );
        self.assert_alone_and_resync();
        let syncs = C1zReader::open(&self.c1z).unwrap().syncs().unwrap();
        assert!(syncs.iter().all(|s| s.is_finished()), "{syncs:?}");
    }
}

/// `baton-notion` set to run the hostile component in `dir`, with console
/// logs and no inherited `BATON_*` variable; the test adds `--mode` and the rest.
pub fn hostile_cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    c.current_dir(dir)
        .arg("--component")
        .arg(fixture_dir().join("baton_hostile_connector.wasm"))
        .args(["--log-format", "console"]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BATON_") {
            c.env_remove(key);
        }
    }
    c
}

/// The runtime error inside a sync error.
pub fn runtime(err: SyncError) -> RuntimeError {
    match err {
        SyncError::Runtime(e) => e,
        other => panic!("not a runtime error: {other:?}"),
    }
}

/// Asserts that `err` is `limit` broken in `list-resources`, with `message`.
pub fn assert_limit(err: SyncError, limit: Limit, message: &str) {
    let err = runtime(err);
    assert_eq!(err.to_string(), message);
    match err {
        RuntimeError::Limit { call, limit: got } => {
            assert_eq!((call, got), ("list-resources", limit));
        }
        other => panic!("not a limit error: {other:?}"),
    }
}

/// A server on a fresh port that answers every request with `total` bytes
/// in chunks, without a `Content-Length`, so that only counting can stop it.
pub fn chunked_server(total: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let chunk = vec![b'x'; 16 << 10];
            let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..total / chunk.len() {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(&chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            // The host hangs up early when the limit is hit; that is expected.
            let _ = stream.write_all(&out);
        }
    });
    url
}
