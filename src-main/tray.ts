import { Menu, type MenuItemConstructorOptions, nativeImage, Tray } from 'electron';
import type { TrayAction, TrayModel } from './tray-model.ts';

/** The tray / menu-bar icon, rebuilt from tray-model.ts whenever what it shows changes. */
export function showTray(
  icon: string,
  act: (action: TrayAction) => void,
): { show(model: TrayModel): void; destroy(): void } {
  const image = nativeImage.createFromPath(icon).resize({ width: 16, height: 16 });
  const tray = new Tray(image);
  let shown = '';
  return {
    show(model) {
      const key = JSON.stringify(model);
      if (key === shown) return;
      shown = key;
      const template = model.items.map((item): MenuItemConstructorOptions => {
        if (item.kind === 'separator') return { type: 'separator' };
        if (item.kind === 'text') return { label: item.label, enabled: false };
        if (item.kind === 'checkbox') {
          return { type: 'checkbox', label: item.label, checked: item.checked, click: () => act(item.action) };
        }
        return { label: item.label, enabled: item.enabled, click: () => act(item.action) };
      });
      tray.setToolTip(model.tooltip);
      tray.setContextMenu(Menu.buildFromTemplate(template));
    },
    destroy: () => tray.destroy(),
  };
}
