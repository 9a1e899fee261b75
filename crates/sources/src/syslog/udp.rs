//! Syslog over UDP: one message per datagram.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{RawBatch, RawSink, BATCH_MESSAGES};

/// A bound UDP syslog listener.
pub struct UdpListener {
    socket: tokio::net::UdpSocket,
    max_message_bytes: usize,
}

impl UdpListener {
    /// Binds `addr` with a large receive buffer (bursts are absorbed by the kernel, not lost).
    pub async fn bind(addr: SocketAddr, max_message_bytes: usize) -> std::io::Result<Self> {
        let domain = socket2::Domain::for_address(addr);
        let sock =
            socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = sock.set_recv_buffer_size(8 * 1024 * 1024);
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        let socket = tokio::net::UdpSocket::from_std(sock.into())?;
        Ok(UdpListener {
            socket,
            max_message_bytes,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives datagrams until the task is dropped.
    pub async fn run(self, sink: Arc<dyn RawSink>) {
        let max = self.max_message_bytes;
        // A datagram can be up to 64 KiB; one byte more tells a cut one apart.
        let mut buf = vec![0u8; max.max(65_536) + 1];
        loop {
            let mut batch = RawBatch::default();
            match self.socket.recv_from(&mut buf).await {
                Ok((n, peer)) => push(&mut batch, &buf, n, peer, max),
                Err(e) => {
                    tracing::debug!(error = %e, "syslog udp: receive failed");
                    sink.connection_problem("syslog_udp", "read_error");
                    continue;
                }
            }
            while batch.len() < BATCH_MESSAGES {
                match self.socket.try_recv_from(&mut buf) {
                    Ok((n, peer)) => push(&mut batch, &buf, n, peer, max),
                    Err(_) => break,
                }
            }
            sink.submit("syslog_udp", batch).await;
        }
    }
}

fn push(batch: &mut RawBatch, buf: &[u8], n: usize, peer: SocketAddr, max: usize) {
    let data = buf.get(..n).unwrap_or(&[]);
    let data = ferrodef_syslog::trim_message(data);
    if data.is_empty() {
        return;
    }
    if data.len() > max {
        batch.push(data.get(..max).unwrap_or(&[]), peer.ip(), true);
    } else {
        batch.push(data, peer.ip(), false);
    }
}
