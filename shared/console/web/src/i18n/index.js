// The string catalogues and the current language: the browser's first
// preferred language we have, English otherwise, switchable at any time.
import en from './en.js';
import es from './es.js';

export const catalogues = { en, es };
let current = 'en';

// pick returns the first of the browser's languages we have a catalogue for.
export function pick(preferred) {
	for (const tag of preferred || []) {
		const base = String(tag).toLowerCase().split('-')[0];
		if (catalogues[base]) return base;
	}
	return 'en';
}

export function setLanguage(lang) {
	current = catalogues[lang] ? lang : 'en';
	document.documentElement.lang = current;
}

export function language() {
	return current;
}

// t returns the string for key with {name} placeholders filled from vars.
export function t(key, vars = {}) {
	const s = catalogues[current][key] ?? catalogues.en[key] ?? key;
	return s.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}
