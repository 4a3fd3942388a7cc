import { app, BrowserWindow } from 'electron';

// Placeholder entry; the companion's services arrive with the main-process work.
app.whenReady().then(() => {
  const window = new BrowserWindow({
    width: 960,
    height: 720,
    webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  window.loadFile(new URL('../renderer/index.html', import.meta.url).pathname);
});
