// Console tab for video (registers itself in SR.tabs).
