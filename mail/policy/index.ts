// Pure sending rules (no I/O): shared by the send activity and tests on a virtual clock.
export { nextCapSlot, type FrequencyCap } from './frequency-cap.js';
export {
  decideSend,
  type DeferReason,
  type SendDecision,
  type SendQuestion,
  type SendWindow,
} from './send-policy.js';
