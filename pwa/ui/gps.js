// Position at the start and the finish of a visit, as the envelope wants it: decimal strings with
// the accuracy in metres, or {"refused": true} when the investigator (or the phone) said no.

export function locate(timeout = 15000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) {
      resolve({ refused: true });
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({
        lat: pos.coords.latitude.toFixed(6),
        lon: pos.coords.longitude.toFixed(6),
        accuracy: Math.max(0, pos.coords.accuracy).toFixed(1),
      }),
      // Denied, unavailable or timed out: the contract knows only a position or a refusal; the
      // visit screen offers to try again before the record is finalised.
      (err) => resolve({ refused: true, reason: err.code === 1 ? "denied" : "unavailable" }),
      { enableHighAccuracy: true, timeout, maximumAge: 60000 },
    );
  });
}

/** The position as the envelope carries it (without the phone-only "reason"). */
export function forEnvelope(pos) {
  if (!pos || pos.refused) return { refused: true };
  return { lat: pos.lat, lon: pos.lon, accuracy: pos.accuracy };
}
