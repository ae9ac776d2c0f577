// An AudioWorklet that measures what the alarm actually sends to the speakers: the peak
// amplitude of its output, posted to the page at most every 50 ms while there is sound.
// The page shows it on #alarm (data-peak), which is how a test hears the alarm.
"use strict";

class PeakMeter extends AudioWorkletProcessor {
  constructor() {
    super();
    this.peak = 0;
    this.sentAt = 0;
  }

  process(inputs) {
    for (const channel of inputs[0] || []) {
      for (const v of channel) if (Math.abs(v) > this.peak) this.peak = Math.abs(v);
    }
    if (this.peak > 0.001 && currentTime - this.sentAt >= 0.05) {
      this.port.postMessage(this.peak);
      this.peak = 0;
      this.sentAt = currentTime;
    }
    return true;
  }
}

registerProcessor("fw-peak-meter", PeakMeter);
