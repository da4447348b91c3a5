// Demo customers and orders for a small online shop of kitchenware ("Lookout Home"), written by
// either store the first time it opens an empty database.
import type { Customer, Order } from './store/types.js';

const day = 24 * 60 * 60 * 1000;
const daysAgo = (n: number) => new Date(Date.now() - n * day).toISOString();

export const DEMO_CUSTOMERS: readonly Customer[] = [
  { id: 'cus_ada', name: 'Ada Lovelace', email: 'ada@example.com' },
  { id: 'cus_grace', name: 'Grace Hopper', email: 'grace@example.com' },
  { id: 'cus_alan', name: 'Alan Turing', email: 'alan@example.com' },
];

/** The demo orders, dated relative to now (deliveries inside and outside the refund window). */
export function demoOrders(): Order[] {
  return [
    {
      id: 'A-1001',
      customerId: 'cus_ada',
      status: 'delivered',
      placedAt: daysAgo(9),
      deliveredAt: daysAgo(4),
      items: [{ sku: 'MUG-BLU', name: 'Stoneware mug, blue', quantity: 2, price: 14.5 }],
      total: 29,
    },
    {
      id: 'A-1002',
      customerId: 'cus_ada',
      status: 'shipped',
      placedAt: daysAgo(2),
      deliveredAt: null,
      items: [{ sku: 'KETTLE-CU', name: 'Copper kettle 1.7 l', quantity: 1, price: 89 }],
      total: 89,
    },
    {
      id: 'A-2001',
      customerId: 'cus_grace',
      status: 'delivered',
      placedAt: daysAgo(20),
      deliveredAt: daysAgo(15),
      items: [
        { sku: 'PAN-28', name: 'Cast-iron pan 28 cm', quantity: 1, price: 64 },
        { sku: 'TOWEL-3', name: 'Linen tea towels (3)', quantity: 1, price: 18 },
      ],
      total: 82,
    },
    {
      id: 'A-3001',
      customerId: 'cus_alan',
      status: 'processing',
      placedAt: daysAgo(1),
      deliveredAt: null,
      items: [{ sku: 'GRINDER', name: 'Burr coffee grinder', quantity: 1, price: 129 }],
      total: 129,
    },
    {
      id: 'A-3002',
      customerId: 'cus_alan',
      status: 'delivered',
      placedAt: daysAgo(60),
      deliveredAt: daysAgo(55),
      items: [{ sku: 'BOARD-OAK', name: 'Oak chopping board', quantity: 1, price: 42 }],
      total: 42,
    },
  ];
}
