//! Syslog over UDP: one message per datagram.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

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

    /// Receives datagrams until `stop`. The receive loop never waits for the ingest service
    /// (a write-ahead log fsync): batches go through a short queue to a task that submits them;
    /// when that queue is full, messages are shed and counted. The kernel's own drop count for
    /// the socket (receive buffer overflows) is read every second and reported.
    pub async fn run(self, sink: Arc<dyn RawSink>, stop: CancellationToken) {
        let max = self.max_message_bytes;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<RawBatch>(QUEUED_BATCHES);
        let submitter = {
            let sink = sink.clone();
            tokio::spawn(async move {
                while let Some(batch) = rx.recv().await {
                    if sink.submit("syslog_udp", batch).await.is_err() {
                        break;
                    }
                }
            })
        };
        let inode = socket_inode(&self.socket);
        let mut drops_tick = tokio::time::interval(std::time::Duration::from_secs(1));
        // A datagram can be up to 64 KiB; one byte more tells a cut one apart.
        let mut buf = vec![0u8; max.max(65_536) + 1];
        loop {
            let mut batch = RawBatch::default();
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = drops_tick.tick() => {
                    if let Some(d) = inode.and_then(kernel_drops) {
                        sink.udp_kernel_drops(d);
                    }
                    continue;
                }
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, peer)) => push(&mut batch, &buf, n, peer, max),
                    Err(e) => {
                        tracing::debug!(error = %e, "syslog udp: receive failed");
                        sink.connection_problem("syslog_udp", "read_error");
                        continue;
                    }
                },
            }
            while batch.len() < BATCH_MESSAGES {
                match self.socket.try_recv_from(&mut buf) {
                    Ok((n, peer)) => push(&mut batch, &buf, n, peer, max),
                    Err(_) => break,
                }
            }
            if let Err(e) = tx.try_send(batch) {
                let n = match &e {
                    tokio::sync::mpsc::error::TrySendError::Full(b)
                    | tokio::sync::mpsc::error::TrySendError::Closed(b) => b.len(),
                };
                sink.shed("syslog_udp", n as u64);
            }
        }
        drop(tx);
        let _ = submitter.await;
    }
}

/// Batches waiting for the ingest service; beyond them UDP messages are shed.
const QUEUED_BATCHES: usize = 64;

/// The inode of the socket (to find it in `/proc/net/udp`).
fn socket_inode(socket: &tokio::net::UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let fd = socket.as_raw_fd();
    std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|m| m.ino())
}

/// The kernel's drop count of the UDP socket with this inode (Linux `/proc/net/udp{,6}`).
fn kernel_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|table| drops_in(&table, inode))
}

/// The `drops` column of the line of `inode` in a `/proc/net/udp` table.
fn drops_in(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let ino: u64 = cols.get(9)?.parse().ok()?;
        (ino == inode).then(|| cols.last()?.parse().ok())?
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_column_of_the_socket() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  812: 0100007F:157A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123456 2 0000000000000000 17
  813: 0100007F:157B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 654321 2 0000000000000000 0
";
        assert_eq!(drops_in(table, 123456), Some(17));
        assert_eq!(drops_in(table, 654321), Some(0));
        assert_eq!(drops_in(table, 1), None);
    }

    #[tokio::test]
    async fn the_socket_is_found_in_the_kernel_table() {
        let l = UdpListener::bind("127.0.0.1:0".parse().unwrap(), 1024)
            .await
            .unwrap();
        let inode = socket_inode(&l.socket).expect("inode");
        assert_eq!(kernel_drops(inode), Some(0));
    }
}
