// The contact view lives with the engine (conditions and the API read it too); activities
// keep importing it from here.
export { contactView, isRecord } from '../engine/contact-view.js';
