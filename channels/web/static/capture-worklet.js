// Copies microphone samples (already 16 kHz: the page's AudioContext asks for that rate) to
// the page, which turns them into 16-bit PCM frames for the server's recogniser.
class PcmCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("pcm-capture", PcmCapture);
