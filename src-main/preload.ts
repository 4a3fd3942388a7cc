import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import {
  type CompanionBridge,
  type CompanionState,
  channelOf,
  type MethodName,
  methodsOn,
  type ProblemView,
  STATE_CHANNEL,
} from '../src-shared/contract.ts';
import { err, type Result } from '../src-shared/result.ts';

/**
 * The renderer's only door to main: `window.tollgate`, a CompanionBridge. Sandboxed, so it is built
 * as CommonJS; it forwards only the contract's renderer methods and never exposes ipcRenderer itself.
 */
const RENDERER_METHODS = new Set<string>(methodsOn('renderer'));

const bridge: CompanionBridge = {
  async invoke(method, params) {
    if (!RENDERER_METHODS.has(method)) {
      return err({ code: 'UNKNOWN_METHOD', message: `Unknown method ${String(method)}` });
    }
    return ipcRenderer.invoke(channelOf(method as MethodName), params);
  },
  onState(listener) {
    const forward = (_event: IpcRendererEvent, state: CompanionState) => listener(state);
    ipcRenderer.on(STATE_CHANNEL, forward);
    void ipcRenderer.invoke(channelOf('state.get'), {}).then((answer: Result<CompanionState, ProblemView>) => {
      if (answer.ok) listener(answer.value);
    });
    return () => {
      ipcRenderer.removeListener(STATE_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('tollgate', bridge);
