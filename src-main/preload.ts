import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('tollgate', {});
