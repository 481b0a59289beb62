//! One WebRTC connection's I/O: a `str0m` `Rtc` (sans-I/O) driven with a
//! UDP socket on the tokio runtime, for the server's viewers and the
//! benchmark's alike.

use crate::LiveError;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

pub(crate) struct Link {
    pub(crate) rtc: Rtc,
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
    buffer: Vec<u8>,
}

impl Link {
    pub(crate) fn new(rtc: Rtc, socket: std::net::UdpSocket) -> Result<Link, LiveError> {
        socket.set_nonblocking(true).map_err(LiveError::network)?;
        let local = socket.local_addr().map_err(LiveError::network)?;
        let socket = tokio::net::UdpSocket::from_std(socket).map_err(LiveError::network)?;
        Ok(Link { rtc, socket, local, buffer: vec![0u8; 2048] })
    }

    /// Sends what the connection has to send and hands its events to
    /// `on_event`; returns when it next needs the time, or `None` once the
    /// connection is over.
    pub(crate) async fn pump(&mut self, mut on_event: impl FnMut(Event)) -> Result<Option<Instant>, LiveError> {
        loop {
            match self.rtc.poll_output().map_err(LiveError::network)? {
                Output::Timeout(at) => return Ok(self.rtc.is_alive().then_some(at)),
                Output::Transmit(out) => {
                    let _ = self.socket.send_to(&out.contents, out.destination).await;
                }
                Output::Event(Event::IceConnectionStateChange(IceConnectionState::Disconnected)) => return Ok(None),
                Output::Event(event) => on_event(event),
            }
        }
    }

    /// Waits for a packet, the `deadline`, or `other`, whichever comes
    /// first; gives `other`'s value if it came.
    pub(crate) async fn next<T>(
        &mut self,
        deadline: Instant,
        other: impl Future<Output = T>,
    ) -> Result<Option<T>, LiveError> {
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_micros(100));
        tokio::select! {
            received = self.socket.recv_from(&mut self.buffer) => {
                let Ok((length, source)) = received else { return Ok(None) };
                let Ok(contents) = self.buffer[..length].try_into() else { return Ok(None) };
                let input = Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: self.local, contents });
                if self.rtc.accepts(&input) {
                    self.rtc.handle_input(input).map_err(LiveError::network)?;
                }
                Ok(None)
            }
            value = other => Ok(Some(value)),
            _ = tokio::time::sleep(wait) => {
                self.rtc.handle_input(Input::Timeout(Instant::now())).map_err(LiveError::network)?;
                Ok(None)
            }
        }
    }
}
