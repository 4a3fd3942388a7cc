// Order matters: connected-store.ts opens the connection to main before mount.tsx starts React.
import { connectedStore } from './connected-store.ts';
import { mount } from './mount.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root) mount(root, connectedStore);
