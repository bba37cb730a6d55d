//! A real SMTP listener on 127.0.0.1 that accepts every message and keeps it: the server under
//! test sends its mail here (`FANDB_SMTP_URL=smtp://127.0.0.1:PORT`), and tests read the links
//! out of what arrived. It speaks just enough SMTP for a client: the 220 greeting, EHLO/HELO,
//! MAIL FROM, RCPT TO, DATA up to `<CRLF>.<CRLF>`, RSET, NOOP and QUIT.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-unstuffed, CRLF line ends).
    pub data: String,
}

impl Delivered {
    /// A header's value (the first of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = self.data.split_once("\r\n\r\n")?;
        headers.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// The body as text, its transfer encoding undone.
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        match self.header("content-transfer-encoding").map(|value| value.to_lowercase()).as_deref() {
            Some("quoted-printable") => decode_quoted_printable(raw),
            Some("base64") => {
                use base64::Engine;
                let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(compact).expect("a base64 body");
                String::from_utf8(bytes).expect("a UTF-8 body")
            }
            _ => raw.to_owned(),
        }
    }

    /// The first link in the body whose path starts with `path`, e.g. `/account/verify`.
    #[track_caller]
    pub fn link(&self, path: &str) -> String {
        let body = self.body();
        body.split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(&format!("{path}?")))
            .unwrap_or_else(|| panic!("no {path} link in: {body}"))
            .to_owned()
    }
}

/// `=XX` escapes and `=` soft line breaks undone.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(byte) =
                std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("a UTF-8 body")
}

/// The listener and what it received.
pub struct SmtpSink {
    /// `127.0.0.1:PORT`.
    pub port: u16,
    received: Arc<Mutex<Vec<Delivered>>>,
    taken: Mutex<usize>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    /// Listens on a free port of 127.0.0.1 until the test's runtime ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("its address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (store, notify) = (received.clone(), arrived.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, notify) = (store.clone(), notify.clone());
                tokio::spawn(async move {
                    // A client that breaks off mid-conversation delivers nothing.
                    let _ = session(stream, store, notify).await;
                });
            }
        });
        Self { port, received, taken: Mutex::new(0), arrived }
    }

    /// The `FANDB_SMTP_URL` of this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Delivered> {
        self.received.lock().unwrap().clone()
    }

    /// The next message not yet taken (in order of arrival), waiting for it up to 30 s.
    pub async fn next(&self) -> Delivered {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let notified = self.arrived.notified();
            {
                let received = self.received.lock().unwrap();
                let mut taken = self.taken.lock().unwrap();
                if let Some(message) = received.get(*taken) {
                    *taken += 1;
                    return message.clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no message arrived within 30 s; received: {:?}", self.received());
            }
        }
    }

    /// The next message, which must be addressed to `recipient`.
    pub async fn next_to(&self, recipient: &str) -> Delivered {
        let message = self.next().await;
        assert!(
            message.to.iter().any(|to| to.eq_ignore_ascii_case(recipient)),
            "the next message went to {:?}, not {recipient}",
            message.to
        );
        message
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Delivered>>>, notify: Arc<Notify>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_uppercase();
        match verb.as_str() {
            "EHLO" => writer.write_all(b"250-sink.test\r\n250 SMTPUTF8\r\n").await?,
            "HELO" | "NOOP" => writer.write_all(b"250 OK\r\n").await?,
            "MAIL" => {
                to.clear();
                writer.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                let address = command
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map(|(address, _)| address.to_owned())
                    .unwrap_or_default();
                to.push(address);
                writer.write_all(b"250 OK\r\n").await?;
            }
            "RSET" => {
                to.clear();
                writer.write_all(b"250 OK\r\n").await?;
            }
            "DATA" => {
                writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing undone.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap().push(Delivered { to: std::mem::take(&mut to), data });
                notify.notify_waiters();
                writer.write_all(b"250 OK queued\r\n").await?;
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => writer.write_all(b"502 command not implemented\r\n").await?,
        }
    }
}
