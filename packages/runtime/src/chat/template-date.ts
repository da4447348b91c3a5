import { ChatFormatError } from './errors.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The "Today Date" of the Llama system block, strftime("%d %b %Y") style: "26 Jul 2024".
 * A string is taken as already formatted; a Date is read in local time, as strftime_now does.
 */
export function formatTemplateDate(date: Date | string = new Date()): string {
  if (typeof date === 'string') return date;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new ChatFormatError('CHAT_BAD_DATE', 'date must be a valid Date or a preformatted string such as "26 Jul 2024"');
  }
  const day = String(date.getDate()).padStart(2, '0');
  return `${day} ${MONTHS[date.getMonth()]} ${date.getFullYear()}`;
}
