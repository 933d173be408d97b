// Console tab for access (registers itself in SR.tabs).
