//! A real SMTP server on loopback for the email tests (mailin-embedded), recording every
//! message it accepts.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{response, Handler, Response, Server, SslConfig};

/// Called after a message is recorded and before its final `.` is answered.
type BeforeAnswer = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Default)]
struct Recorder {
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    current: Vec<u8>,
    before_answer: Option<BeforeAnswer>,
}

impl Handler for Recorder {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = std::mem::take(&mut self.current);
        self.received.lock().expect("recorder lock").push(message);
        if let Some(before_answer) = &self.before_answer {
            before_answer();
        }
        response::OK
    }
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// A loopback port that nothing listens on (yet): SMTP "down".
pub fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// Starts the server on `port` (0: any free port). It runs until the test process ends.
    pub fn start_on(port: u16) -> Self {
        Self::start_with(port, SslConfig::None, None)
    }

    /// A server that records each message when its final `.` arrives, then runs
    /// `before_answer` (which may hold the answer back) before it answers.
    pub fn start_answering_after(before_answer: impl Fn() + Send + Sync + 'static) -> Self {
        Self::start_with(0, SslConfig::None, Some(Arc::new(before_answer)))
    }

    /// A server that offers STARTTLS with the certificate and key in these PEM files.
    pub fn start_tls(certificate: &Path, key: &Path) -> Self {
        Self::start_with(
            0,
            SslConfig::SelfSigned {
                cert_path: certificate.display().to_string(),
                key_path: key.display().to_string(),
            },
            None,
        )
    }

    fn start_with(port: u16, ssl: SslConfig, before_answer: Option<BeforeAnswer>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind SMTP port");
        let port = listener.local_addr().expect("address").port();
        let recorder = Recorder {
            before_answer,
            ..Recorder::default()
        };
        let received = recorder.received.clone();
        let mut server = Server::new(recorder);
        server
            .with_name("localhost")
            // Enough for the connections of several copies, some of them held.
            .with_num_threads(16)
            .with_tcp_listener(listener)
            .with_ssl(ssl)
            .expect("TLS set-up of the test SMTP server");
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("test SMTP server stopped: {e}");
            }
        });
        Self { port, received }
    }

    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.received.lock().expect("recorder lock").clone()
    }

    /// Waits (bounded) until at least `count` messages arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Vec<u8>> {
        for _ in 0..600 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} messages, got {}", self.messages().len());
    }
}
